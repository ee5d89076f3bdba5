"""Background jobs (Huey): SqliteHuey embedded by default, RedisHuey to scale out; tasks call services."""
