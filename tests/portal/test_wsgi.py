"""The gunicorn entry point."""

import gc

from portal import wsgi


def test_the_entry_point_freezes_what_it_built_before_the_workers_fork(tmp_path):
    assert gc.get_freeze_count() == 0
    app = wsgi.create_app(instance_path=str(tmp_path / "instance"))
    try:
        assert gc.get_freeze_count() > 0
        assert app.extensions["solveloop.index"] is not None
    finally:
        gc.unfreeze()
        app.extensions["solveloop.engine"].dispose()
