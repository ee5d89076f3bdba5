"""Background jobs (Huey): SqliteHuey embedded by default, RedisHuey when PRECERT_REDIS_URL is set.

huey.py builds the instance; tasks.py holds the tasks, thin calls into one service function each.
The consumer loads `precert.worker.tasks:huey` (or runs through `precert worker`).
"""
