"""Investor services (the transfer agent's side): the share register, dealing, documents, distributions, equalisation."""
