"""Every table of every domain, imported so the metadata is complete for migrations and tests."""

from __future__ import annotations

from neigou.audit import models as audit_models
from neigou.auth import models as auth_models
from neigou.kit import jobs
from neigou.kit.db import Base
from neigou.programs import models as programs_models

MODEL_MODULES = (audit_models, auth_models, programs_models, jobs)
metadata = Base.metadata
