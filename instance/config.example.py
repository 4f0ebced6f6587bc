# Copy to INSTANCE/config.py and adjust. Every key can also be set as SOLVELOOP_<KEY>.
# DATABASE_URL = "postgresql+psycopg://solveloop@127.0.0.1:5432/solveloop"
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
# SECRET_KEY = "the same long random string on every node"
# SESSION_COOKIE_SECURE = True
# TECHNICIANS_CAN_PUBLISH = False
# INDEXER_THREAD = True
