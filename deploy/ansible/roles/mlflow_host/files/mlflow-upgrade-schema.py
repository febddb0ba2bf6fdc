"""Bring the tracking database's schema up to the installed MLflow, and say whether it moved.

A newer MLflow refuses to start on an older schema ("Detected out-of-date database schema"), so the role
runs this after every install, before the restart. `mlflow db upgrade` takes the URI as an argument, which
`ps` would show with its password: here it comes from the environment. MLflow's command does the work; the
`alembic_version` row, read before and after, tells Ansible whether anything changed.
"""

import os

import mlflow.db
import sqlalchemy as sa


def schema_version(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:  # no such table yet: an empty database
        return None
    finally:
        engine.dispose()


url = os.environ["MLFLOW_BACKEND_STORE_URI"]
before = schema_version(url)
mlflow.db.upgrade.main([url], standalone_mode=False)
after = schema_version(url)
print("unchanged" if before == after else f"upgraded {before or 'an empty database'} -> {after}")
