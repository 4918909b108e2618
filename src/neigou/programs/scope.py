"""Tenant isolation in the queries: every ORM statement of a scoped session sees one organization.

The rule is generic, by column, so a table added later is covered without touching this file. A
mapped class is scoped by the first of these columns it has (nullable ones are skipped for the
derived rules, where a null would hide a row its owner reaches through another column):

1. ``organization_id``: the row's organization (programs, the catalog, accounts, tokens, audit);
2. ``program_id``: a program of the organization (members, groups, links, orders, ledger, tiers …);
3. ``member_id``, ``integration_id``, ``coupon_id``, ``campaign_id``: a member, integration, coupon or
   campaign of the organization (tier history, webhook deliveries, claim counters, campaign items);
4. ``order_id``, ``delivery_id``: an order or delivery of the organization (lines, attempts);
5. ``event_id`` (before ``coupon_id``), ``live_code_id``, ``group_id``, ``post_id``, ``platform_order_id``,
   ``item_id``: an event, live code, group, post, platform order or event item of the organization.

Never a ``sku`` alone: a sku is unique within its organization only (another organization may sell the
same one), so a row that names a sku names its organization, order or campaign too (fixed commissions
carry ``organization_id``).

``with_loader_criteria`` puts the criteria wherever the entity appears: the FROM list, joins,
subqueries and ORM-enabled UPDATE and DELETE. A row of another organization therefore does not
exist for the caller: ``session.get`` finds nothing (404), lists and counts leave it out, reports
and exports never add it up. Core statements on tables (``kit.bulk``) are inserts of rows whose
parents were read through this scope; none selects.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Table, and_, event, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.cache_key import CacheConst
from sqlalchemy.sql.visitors import anon_map

from neigou.kit.db import Base
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.scoping import Scope, current_scope
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, Merchant, Organization

# Parent tables and the column that names the organization or the program of their rows.
_PARENTS: dict[str, tuple[str, str]] = {
    "member_id": ("members", "program_id"),
    "integration_id": ("integrations", "program_id"),
    # An event's rows name skus that need not be products: they follow their event (after
    # integration_id: a webhook delivery's event_id is the id of what it announces).
    "event_id": ("events", "program_id"),
    "coupon_id": ("coupon_templates", "organization_id"),
    # Never ``sku``: a sku is unique within an organization only, another organization may sell it too.
    "campaign_id": ("campaigns", "program_id"),
    "order_id": ("orders", "program_id"),
    "delivery_id": ("webhook_deliveries", "integration_id"),
    # Rows under a live code, a group, a post, a platform order or an event item of the organization.
    "live_code_id": ("group_live_codes", "program_id"),
    "group_id": ("chat_groups", "program_id"),
    "post_id": ("group_posts", "program_id"),
    "platform_order_id": ("platform_orders", "program_id"),
    "item_id": ("event_items", "event_id"),
}
_KEYS = dict.fromkeys(_PARENTS, "id")

_rules_cache: tuple[int, list[tuple[type[Any], str]]] | None = None


def _rules() -> list[tuple[type[Any], str]]:
    """(mapped class, the column that scopes it) for every mapped class, in the order above."""
    global _rules_cache  # noqa: PLW0603 - the mapped classes change only when a module is imported
    mappers = list(Base.registry.mappers)
    if _rules_cache is not None and _rules_cache[0] == len(mappers):
        return _rules_cache[1]
    rules: list[tuple[type[Any], str]] = []
    for mapper in mappers:
        columns = mapper.local_table.c
        if "organization_id" in columns:
            rules.append((mapper.class_, "organization_id"))
            continue
        for name in ("program_id", *_PARENTS):
            if name in columns and not columns[name].nullable:
                rules.append((mapper.class_, name))
                break
    _rules_cache = (len(mappers), rules)
    return rules


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _programs_of(organization_id: int) -> Any:
    programs = _table("programs")
    return select(programs.c.id).where(programs.c.organization_id == organization_id)


def _owned(column: ColumnElement[Any], by: str, organization_id: int) -> ColumnElement[bool]:
    """``column`` names a row of the organization, following the parents' chain in Core (the ORM
    criteria are not re-applied inside)."""
    if by == "organization_id":
        return column == organization_id
    if by == "program_id":
        return column.in_(_programs_of(organization_id))
    parent_name, parent_by = _PARENTS[by]
    parent = _table(parent_name)
    key = parent.c[_KEYS[by]]
    return column.in_(select(key).where(_owned(parent.c[parent_by], parent_by, organization_id)))


def _merchant(cls: type[Any], by: str, scope: Scope) -> ColumnElement[bool]:
    owned = _owned(getattr(cls, by), by, scope.organization_id)
    if scope.merchant_id is not None and "merchant_id" in cls.__table__.c:
        return and_(owned, cls.merchant_id == scope.merchant_id)
    return owned


class ScopeCriteria(LoaderCriteriaOption):
    """``with_loader_criteria(cls, criterion, include_aliases=True)`` whose part of a statement's cache
    key is computed once. SQLAlchemy computes a statement's cache key on every execution, options
    included, and a scoped statement carries one option per mapped class (75 of them, each with its
    own subqueries): that walk cost about 2 ms per statement, more than most statements take to run.
    A scope's options are built once and never change, so each keeps its part of the key, walked once
    in a key map of its own, with the bound parameters (the organization, the merchant) the walk
    collects; every later statement gets that part and those parameters as the walk would give them.
    Two statements therefore share a key (and a compiled form) exactly when they did before, and the
    values bound into a cached form are still the caller's (``tests/organizations/test_criteria_keys.py``).
    """

    __slots__ = ("_memo",)
    # The superclass's traversal, declared on this class so its key walk (run once) is generated for it.
    _traverse_internals = LoaderCriteriaOption._traverse_internals

    _memo: tuple[tuple[Any, ...], tuple[BindParameter[Any], ...]] | None

    def _gen_cache_key(self, am: anon_map, bindparams: list[BindParameter[Any]]) -> tuple[Any, ...] | None:
        memo = getattr(self, "_memo", None)
        if memo is None:
            own = anon_map()
            found: list[BindParameter[Any]] = []
            key: tuple[Any, ...] | None = super()._gen_cache_key(own, found)
            if key is None or CacheConst.NO_CACHE in own or CacheConst.PARAMS in own:
                # Not a plain key (never the case for these criteria): walked each time, as SQLAlchemy does.
                walked: tuple[Any, ...] | None = super()._gen_cache_key(am, bindparams)
                return walked
            memo = self._memo = (key, tuple(found))
        bindparams.extend(memo[1])
        return memo[0]

    def _resolve_where_criteria(self, ext_info: Any) -> ColumnElement[bool]:
        """The criterion for ``ext_info``, adapted to it when it is an alias. SQLAlchemy adapts a
        fixed criterion to an aliased entity of the FROM list, but puts it unadapted into the ON
        clause of a join to an alias: there it filtered the base table again and never the alias
        (a self-join reached other organizations' rows; an alias joined without its base entity
        failed). Adapting here covers both: adapting an already adapted criterion again changes
        nothing. The adapter clones the criterion's bound parameters, and SQLAlchemy's compiler
        relates a clone to the cache key's parameter it comes from, so a cached aliased statement
        still binds the caller's own values (``tests/organizations/test_aliases.py``)."""
        criterion: ColumnElement[bool] = super()._resolve_where_criteria(ext_info)
        if getattr(ext_info, "is_aliased_class", False):
            adapted: ColumnElement[bool] = ext_info._adapter.traverse(criterion)
            return adapted
        return criterion


def criteria(scope: Scope) -> tuple[LoaderCriteriaOption, ...]:
    """The loader criteria that confine a statement to ``scope``'s organization (and, for a
    merchant's caller, the rows that name a merchant to that merchant's). Built once per scope:
    the organization is a bound value, so every scope's statements share one compiled form."""
    return _criteria(scope, len(_rules()))


@lru_cache(maxsize=4096)
def _criteria(scope: Scope, _rule_count: int) -> tuple[LoaderCriteriaOption, ...]:
    return tuple(ScopeCriteria(cls, _merchant(cls, by, scope), include_aliases=True) for cls, by in _rules())


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    scope = current_scope(state.session)
    if scope is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or ((state.is_update or state.is_delete) and not isinstance(state.parameters, list)):
        state.statement = state.statement.options(*criteria(scope))


def organization_for_write(session: Session, requested: int | None = None) -> int:
    """The organization a new program or catalog row belongs to: the caller's, or for a platform
    administrator the one asked for, else the default organization. Another organization than the
    caller's, or a deleted one, is a 404 (``organization_not_found``)."""
    scope = current_scope(session)
    if scope is not None and requested not in (None, scope.organization_id):
        requested = -1  # not visible to this caller: answered like an id that does not exist
    wanted = requested if requested is not None else (scope.organization_id if scope else None)
    query = select(Organization.id).where(Organization.deleted_at.is_(None))
    if wanted is None:
        query = query.where(Organization.code == DEFAULT_ORGANIZATION_CODE)
    else:
        query = query.where(Organization.id == wanted)
    found = session.scalar(query)
    if found is None:
        raise NotFound(
            Message("This organization does not exist."),
            code="organization_not_found",
        )
    return int(found)


def program_in_scope(session: Session, program_id: int) -> bool:
    """Whether the caller may see program ``program_id`` (a plain check for non-ORM callers)."""
    from_programs = _table("programs")
    query = select(from_programs.c.id).where(from_programs.c.id == program_id)
    scope = current_scope(session)
    if scope is not None:
        query = query.where(from_programs.c.organization_id == scope.organization_id)
    return session.execute(query).first() is not None


def organization_of_caller(session: Session) -> int | None:
    """The caller's organization, or None for a platform administrator (rows of every organization)."""
    scope = current_scope(session)
    return None if scope is None else scope.organization_id


def is_merchant(session: Session) -> bool:
    """Whether the caller acts for one merchant (a merchant's account or token)."""
    scope = current_scope(session)
    return scope is not None and scope.merchant_id is not None


def owner_for_write(session: Session, merchant_id: int | None) -> tuple[int, int | None]:
    """(organization, merchant) of a new product, coupon or promotion: a merchant's caller writes
    for its own merchant; an operator may name a merchant of its organization (a 404
    ``merchant_not_found`` otherwise), whose organization the row then belongs to."""
    scope = current_scope(session)
    if scope is not None and scope.merchant_id is not None:
        if merchant_id not in (None, scope.merchant_id):
            raise _merchant_not_found(merchant_id)
        return scope.organization_id, scope.merchant_id
    if merchant_id is None:
        return organization_for_write(session), None
    found = session.scalar(
        select(Merchant.organization_id).where(Merchant.id == merchant_id, Merchant.deleted_at.is_(None))
    )
    if found is None:
        raise _merchant_not_found(merchant_id)
    return int(found), merchant_id


def _merchant_not_found(merchant_id: int | None) -> NotFound:
    return NotFound(Message("This merchant does not exist."), code="merchant_not_found")
