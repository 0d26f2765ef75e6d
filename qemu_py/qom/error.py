"""The one exception type of the object model; its text is shown to users as is."""


class QOMError(Exception):
    """A user-visible object-model error (bad property, unknown type, bad path)."""
