"""The data model. Importing this package registers every table on the metadata."""

from app.models.session import ServerSession
from app.models.user import User

__all__ = ["ServerSession", "User"]
