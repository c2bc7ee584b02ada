"""`/api/v1/scheduler/*`: the operations scheduler's status, jobs, trigger and metrics."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["scheduler"])
