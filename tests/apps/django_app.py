"""A single-file Django app instrumented by django-prometheus as its README's Quickstart
says: `django_prometheus` in INSTALLED_APPS, PrometheusBeforeMiddleware first and
PrometheusAfterMiddleware last around Django's usual middleware, and
`path("", include("django_prometheus.urls"))`; no PROMETHEUS_* settings. Served by
`runserver --noreload`, which is threaded (one thread per request), so a slow /work does
not hold up the others. See tests/common/real_apps.rs for what that exposes."""

import sys
import time

from django.conf import settings

import control

if __name__ == "__main__":
    args = control.parse_args()
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        SECRET_KEY="test-app-not-secret",
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django_prometheus"],
        MIDDLEWARE=[
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
    )

from django.http import JsonResponse  # noqa: E402 (needs the settings above)
from django.urls import include, path  # noqa: E402


def work(request):
    seconds, status, body = control.work_params(
        int(request.GET.get("ms", 0)), int(request.GET.get("status", 200))
    )
    time.sleep(seconds)
    return JsonResponse(body, status=status)


def health(request):
    status, body = control.health()
    return JsonResponse(body, status=status)


urlpatterns = [
    path("work", work, name="work"),
    path("health", health, name="health"),
    path("", include("django_prometheus.urls")),
]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    control.start_control(args.control_port)
    execute_from_command_line(
        [sys.argv[0], "runserver", "--noreload", f"127.0.0.1:{args.port}"]
    )
