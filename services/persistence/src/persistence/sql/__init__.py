"""SQL migration files, applied in number order by persistence.migrations."""
