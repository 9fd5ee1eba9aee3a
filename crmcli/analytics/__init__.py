"""KPIs, targets and reports over the domain's records."""
