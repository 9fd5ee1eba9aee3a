"""crmcli: a command-line CRM for small teams.

The domain modules (``contacts``, ``companies``, ``activities``, ``search``,
``fields``, ``settings``) form the Python API: they take a SQLModel Session and
plain values, return plain objects and raise :mod:`crmcli.errors` exceptions.
"""

__version__ = "0.1.0"
