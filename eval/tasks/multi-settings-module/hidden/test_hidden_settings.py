import inspect
import app
import settings
import worker

def test_load():
    assert settings.load({}) == {'port': 8080, 'debug': False}
    assert settings.load({'APP_PORT': '9', 'APP_DEBUG': '1'}) == {'port': 9, 'debug': True}

def test_callers():
    assert app.app_banner({'APP_PORT': '81', 'APP_DEBUG': '1'}) == 'app on 81 (debug)'
    assert worker.worker_port({}) == 8081
    for mod in (app, worker):
        assert 'APP_PORT' not in inspect.getsource(mod)
