"""Flask extensions, created unbound; create_app() binds them."""

from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from huey import Huey
from huey.storage import MemoryStorage

from app.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()

# The task queue. Tasks register on it when their modules are imported; app.taskqueue.init_huey(app) gives it its
# storage from the config (a SQLite file in instance/, or Redis when REDIS_URL is set) when create_app() runs.
# Until then it holds tasks in memory. Results are never read, so none are kept.
huey = Huey("dtech", results=False, storage_class=MemoryStorage)
