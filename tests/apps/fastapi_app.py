"""FastAPI instrumented by prometheus-fastapi-instrumentator exactly as its README's first
example does (`Instrumentator().instrument(app).expose(app)`: no options), served by
uvicorn with its defaults. See tests/common/real_apps.rs for what that exposes."""

import asyncio

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_fastapi_instrumentator import Instrumentator

import control

app = FastAPI()


@app.get("/work")
async def work(ms: int = 0, status: int = 200):
    # asyncio.sleep, not time.sleep: slow requests must not hold up the others.
    seconds, status, body = control.work_params(ms, status)
    await asyncio.sleep(seconds)
    return JSONResponse(body, status_code=status)


@app.get("/health")
async def health():
    status, body = control.health()
    return JSONResponse(body, status_code=status)


Instrumentator().instrument(app).expose(app)

if __name__ == "__main__":
    args = control.parse_args()
    control.start_control(args.control_port)
    uvicorn.run(app, host="127.0.0.1", port=args.port)
