"""Pure-Python core: values, ledger rules, commands. Imports only the standard library and biip."""
