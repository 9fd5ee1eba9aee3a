"""Pure helpers: clock, dates, money, normalisation, field types, matching. No SQLAlchemy."""
