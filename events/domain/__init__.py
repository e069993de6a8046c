"""The pure domain: events, commands, the policy aggregate and its fold, rules, documents, canonical form.

Imports only the standard library.
"""
