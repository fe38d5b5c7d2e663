import client

def test_values():
    assert client.fetch_settings() == {'timeout': 30, 'retries': 3}
    assert client.upload_settings() == {'timeout': 60, 'retries': 3}
    assert client.describe() == 'timeout 30s, 3 retries'
