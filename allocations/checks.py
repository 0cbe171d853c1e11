"""System checks (`manage.py check`)."""

from django.core.checks import Warning, register


@register()
def harfbuzz_subset_installed(app_configs, **kwargs):
    """WeasyPrint silently falls back to fontTools without libharfbuzz-subset: letters then take
    about 2.7 times as long (measured on these machines)."""
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset is None:
        return [
            Warning(
                "libharfbuzz-subset is not installed: letters will be about 2.7 times slower.",
                hint="Install Debian's libharfbuzz-subset0 (apt-get install libharfbuzz-subset0).",
                id="allocations.W001",
            )
        ]
    return []
