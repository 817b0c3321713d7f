"""Websocket: a job's progress, for its owner only."""

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import Job


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends {status, progress, total, percent, message} until the job ends, then closes."""

    async def connect(self):
        user = self.scope.get("user")
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        if user is None or not user.is_authenticated or not await self._owns(user, job_id):
            await self.close(code=4403)
            return
        self.job_id = job_id
        await self.accept()
        self._task = asyncio.create_task(self._stream())

    async def disconnect(self, code):
        task = getattr(self, "_task", None)
        if task:
            task.cancel()

    @database_sync_to_async
    def _owns(self, user, job_id):
        return Job.objects.filter(pk=job_id, owner=user).exists()

    @database_sync_to_async
    def _state(self):
        job = Job.objects.get(pk=self.job_id)
        return {"status": job.status, "progress": job.progress, "total": job.total,
                "percent": job.percent, "message": job.message, "finished": job.finished}

    async def _stream(self):
        last = None
        while True:
            state = await self._state()
            if state != last:
                await self.send_json(state)
                last = state
            if state["finished"]:
                await self.close()
                return
            await asyncio.sleep(0.5)
