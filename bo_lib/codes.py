"""Code lists every layer shares, defined once: asset classes, ISO 15022 corporate-action event
types and how the books treat them, MT548 / sese.024 settlement statuses and reason codes, CSDR
instrument categories, and the books' cash-ledger movement types.
"""

from __future__ import annotations

import pycountry

ASSET_CLASSES = ("equity", "government_bond", "corporate_bond", "option")
BOND_CLASSES = ("government_bond", "corporate_bond")

#: ISO 15022 corporate action event codes we accept
CA_EVENT_TYPES = ("DVCA", "DVSE", "DVOP", "SPLF", "SPLR", "BONU", "INTR", "REDM", "MCAL", "PCAL", "RHTS", "MRGR", "TEND", "EXOF", "CAPD", "SOFF")
#: events that multiply a holding by ratio_new / ratio_old (fractions dropped, paid as cash in lieu)
RATIO_EVENTS = ("SPLF", "SPLR", "DVSE", "BONU")
#: events that pay cash income on a holding: dividends (per share) and coupons (per 100 nominal)
INCOME_EVENTS = ("DVCA", "INTR")
#: events that redeem a holding at ``gross_rate`` per 100 nominal (final maturity, calls)
REDEMPTION_EVENTS = ("REDM", "MCAL")
CANCELLED_EVENT = "CANC"
#: the events whose entitlements ``books.entitlements`` works out (ISO 15022 CAEV;
#: DRIP is the dividend reinvestment the golden record carries as its own event)
ENTITLEMENT_EVENT_TYPES = ("DVCA", "DVOP", "DRIP", "SPLF", "SPLR", "BONU", "DVSE", "RHTS", "MRGR", "SOFF", "TEND", "INTR", "REDM", "MCAL")
#: ISO 15022 :22F::CAMV: mandatory, mandatory with choice, voluntary
CA_MANDATORY_VOLUNTARY = ("MAND", "CHOS", "VOLU")
VOLUNTARY_EVENT = "VOLU"
#: ISO 15022 :22F::CAOP option types: cash, securities, cash and securities, exercise (subscribe),
#: sell (the rights), lapse, no action, buy up (to a whole number)
CA_OPTION_TYPES = ("CASH", "SECU", "CASE", "EXER", "SLLE", "LAPS", "NOAC", "BUYA")
#: events whose new securities replace the holding (:92D::NEWO: new units for the old)
REPLACING_EVENTS = ("SPLF", "SPLR", "MRGR")
#: events whose new securities are added to the holding (:92D::ADEX: additional for existing)
ADDING_EVENTS = ("BONU", "DVSE", "SOFF", "DRIP", "DVOP", "RHTS")
#: events whose cash is a dividend, paid net of the treaty rate of withholding tax
WITHHOLDING_EVENTS = ("DVCA", "DVOP", "DRIP")
#: events the books book from the custodians' notifications (the golden record, with the fund's
#: elections): an election, a new security or a subscription, which the books' own event feed cannot carry
NOTIFIED_BOOKING_EVENTS = ("DVOP", "DRIP", "RHTS", "MRGR", "SOFF", "TEND")
#: events whose amounts are per 100 of nominal (coupons, redemption prices)
PER_100_NOMINAL_EVENTS = ("INTR", "REDM", "MCAL")

#: MT548 / sese.024 settlement statuses: pending, pending failing, partially settled, settled, cancelled
SETTLEMENT_STATUSES = ("PEND", "PENF", "PART", "SETT", "CAND")
UNSETTLED_STATUSES = ("PEND", "PENF", "PART")
FAILING_STATUSES = ("PENF", "PART")
#: MT548 / sese.024 reason codes (pending, failing, unmatched)
SETTLEMENT_REASON_CODES = ("", "LACK", "CLAC", "MONY", "CMON", "CYCL", "BOTH", "CMIS", "NCON", "PRCY", "DDAT", "DEPO", "SBLO", "LATE", "FUTU", "NARR", "OTHR")
CSDR_CATEGORIES = ("LIQUID_SHARE", "ILLIQUID_SHARE", "SME_GROWTH", "SOVEREIGN_DEBT", "OTHER_DEBT", "SME_DEBT", "OTHER")

#: the books' cash-ledger movement types (what each expected cash movement is for)
LEDGER_MOVEMENT_TYPES = ("TRADE_SETTLEMENT", "DIVIDEND", "COUPON", "BOND_REDEMPTION", "SUBSCRIPTION", "REDEMPTION", "FEE_PAYMENT",
                         "BANK_CHARGE", "FX", "OTHER")
#: ledger movements that are an expense of the fund booked straight to cash (not a fee accrual)
EXPENSE_MOVEMENT_TYPES = ("BANK_CHARGE",)

#: ISO 4217 currency codes in use (pycountry's copy of the ISO list), without XXX (no currency) and
#: XTS (reserved for testing): a three-letter code that is not one of these is not a currency
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies) - {"XXX", "XTS"}
#: ISO 3166-1 alpha-2 country codes, plus XS (international issuers, as in XS ISINs)
COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XS"}
