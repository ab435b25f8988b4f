"""The service layer: the product's rules and transactions, shared by HTTP routes and socket handlers."""


class ServiceError(Exception):
    """A request the rules refuse; `message` is shown to the user, `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
