"""The settings of a command that works on a deployment's data.

Such a command hashes phones and openids with the secret key (an import's customers, a platform feed's
buyers), signs sign-in links and recruiting codes with it, and stores what it made beside what the
server makes: run with the development key where the deployment looks like production, it would write
hashes and links anyone who read the source could reverse or forge. It refuses as ``neigou serve`` does
(``kit.settings.check_secret_key``: exit status 2, the advice on stderr, the key never shown); elsewhere
(``neigou demo``, a development database) a weak key is a warning. ``neigou migrate`` needs no key."""

from __future__ import annotations

import typer

from neigou.kit.settings import InsecureSecretKey, Settings, check_secret_key, get_settings


def keyed_settings() -> Settings:
    """The process's settings, once their secret key passed ``check_secret_key``; else exit 2."""
    settings = get_settings()
    try:
        check_secret_key(settings)
    except InsecureSecretKey as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    return settings
