"""Long work on a task queue (Huey), each job a database row; `flask caretrack worker` consumes the queue.

models.py holds the job row, queue.py the queue built from config, services.py what a task body needs (claim,
progress and heartbeat, finish or fail, rerun), tasks.py the task bodies, imports.py and import_views.py the
web imports that run on it.
"""
