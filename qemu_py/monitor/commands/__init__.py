"""QMP command handlers, one module per QAPI area.

A handler takes the session (see ``qmp_session.QMPSession``) and the
command's arguments as keyword arguments (``-`` becomes ``_``); it returns
the reply value, or raises QMPError (or QOMError, reported as GenericError).
Declarations (argument and return types, flags) live in ``schema.py``.
"""
