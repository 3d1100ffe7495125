"""Fund accounting: positions, valuation, accruals, fees, share classes, NAV controls and explain."""
