"""Every table of every domain, imported so the metadata is complete for migrations and tests."""

from __future__ import annotations

from neigou.audit import models as audit_models
from neigou.auth import models as auth_models
from neigou.campaigns import models as campaigns_models
from neigou.crm import models as crm_models
from neigou.events import models as events_models
from neigou.feed import models as feed_models
from neigou.groups import models as groups_models
from neigou.integrations import models as integrations_models
from neigou.kit import jobs
from neigou.kit.db import Base
from neigou.ledger import models as ledger_models
from neigou.links import models as links_models
from neigou.offers import models as offers_models
from neigou.orders import models as orders_models
from neigou.organizations import models as organizations_models
from neigou.platforms import models as platforms_models
from neigou.privacy import models as privacy_models
from neigou.programs import models as programs_models
from neigou.risk import models as risk_models
from neigou.tiers import models as tiers_models

MODEL_MODULES = (
    organizations_models,
    audit_models,
    auth_models,
    programs_models,
    offers_models,
    groups_models,
    campaigns_models,
    links_models,
    ledger_models,
    orders_models,
    events_models,
    integrations_models,
    platforms_models,
    tiers_models,
    privacy_models,
    feed_models,
    risk_models,
    crm_models,
    jobs,
)
metadata = Base.metadata
