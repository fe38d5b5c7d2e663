import client

def test_constants_drive_values():
    client.TIMEOUT_SECONDS = 5
    client.MAX_RETRIES = 9
    try:
        assert client.fetch_settings() == {'timeout': 5, 'retries': 9}
        assert client.upload_settings() == {'timeout': 10, 'retries': 9}
        assert client.describe() == 'timeout 5s, 9 retries'
    finally:
        client.TIMEOUT_SECONDS = 30
        client.MAX_RETRIES = 3
