"""Settlement: what happens between trade and settlement for every fund.

* ``status``      our instructions joined with the custodian's status feed: matched/unmatched,
                  pending/failing/settled, reason codes, fails and ageing, counterparty fail rates
* ``csdr``        CSDR cash penalties on EU CSD fails (effective-dated rate tables), monthly view
* ``cash_ladder`` projected cash per account over the next business days, overdraft flags
* ``control``     the fund's settlement control: all of the above, summarised red/amber/green
"""

from bo_lib.settlement.control import SettlementResult, assess
from bo_lib.settlement.csdr import csdr_daily_penalty, csdr_penalties

__all__ = ["SettlementResult", "assess", "csdr_daily_penalty", "csdr_penalties"]
