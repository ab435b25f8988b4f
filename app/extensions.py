"""Flask extensions, created once and bound to the app in create_app()."""

import flask_login
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login.utils import decode_cookie
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.models.base import Base
from app.realtime.codec import SocketJSON, SocketPacket
from app.session_store import ServerSideSessions


class LoginManager(flask_login.LoginManager):
    """Flask-Login's manager, where a remember-me cookie restores a login only when it names a
    remembered login ("<id>:<version>:<token>", app.services.remembered_logins), whose row the user
    loader then checks. A cookie made before those ("<id>:<version>") cannot be ended by a logout,
    so it restores nothing."""

    def _load_user_from_remember_cookie(self, cookie):
        login_id = decode_cookie(cookie)
        if login_id is None or login_id.count(":") != 2:
            return None
        return super()._load_user_from_remember_cookie(cookie)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Storage, strategy and switches come from the RATELIMIT_* settings; limits are set in app.rate_limits.
limiter = Limiter(key_func=get_remote_address)
sessions = ServerSideSessions()
# manage_session=False: a socket's connect reads the same server-side session as HTTP requests;
# its events then take the user from the connection (app/realtime/identities.py), and a logout
# over HTTP ends that identity on every worker.
# The async mode (eventlet or gevent) and the Redis message queue are set in create_app().
# An unreadable packet is refused through its ack, with one short log line (app/realtime/codec.py).
socketio = SocketIO(manage_session=False, json=SocketJSON, serializer=SocketPacket)
