"""The SQL functions of the ``cases`` schema: the one way a case is raised, acted on,
raised from the marts and found by the clock.

- ``cases.raise_case(kind, subject, order_id, condition, severity, detail, actor)``: note
  an open case of (kind, subject) seen again, or - unless a closed case already covered
  ``condition`` - open one (``reopened`` when an earlier one exists), routed by
  ``cases.routing_rules`` on the kind, severity and the order's region, sales channel and
  tags; its id (null: the condition was handled already).
- ``cases.act(case_id, action, actor, note, assignee)``: assign, acknowledge, resolve or
  dismiss, validated; errors carry SQLSTATEs PostgREST turns into HTTP statuses (``PT404``,
  ``PT409``; ``22023`` is 400) with a message, detail and hint.
- ``cases.raise_from_exceptions(orders)``: every exception of ``marts.fct_order_exceptions``
  of those orders (null: all), every order tagged ``manual_review`` or held for review by
  the fulfilment run, and every order whose tags conflict (``cases.tag_conflicts``); the
  batch flow calls it after a publish, the live path for the orders the hot path changed.
- ``cases.sweep()``: the clock-based rules on the wall clock - stuck beyond SLA, silent
  source, stale order - and the escalation of cases not acknowledged in time.
"""

from __future__ import annotations

_RAISE = """
create or replace function cases.raise_case(
    p_kind text, p_subject text, p_order_id text, p_condition text, p_severity text,
    p_detail jsonb, p_actor text default 'orderhub'
) returns bigint language plpgsql as $$
declare
    found_id bigint;
    last_id bigint;
    rule cases.routing_rules;
    o_region text;
    o_channel text;
    o_tags text[] := '{}';
begin
    update cases.cases set times_seen = times_seen + 1, last_seen_at = clock_timestamp(),
        detail = p_detail,
        condition_keys = case when p_condition = '' or p_condition = any(condition_keys)
            then condition_keys else condition_keys || p_condition end
    where kind = p_kind and subject = p_subject
        and state in ('open', 'assigned', 'acknowledged')
    returning case_id into found_id;
    if found_id is not null then
        return found_id;
    end if;
    if p_condition <> '' and exists (
        select from cases.cases
        where kind = p_kind and subject = p_subject and p_condition = any(condition_keys)
    ) then
        return null;
    end if;
    select max(case_id) into last_id from cases.cases where kind = p_kind and subject = p_subject;
    if p_order_id is not null and to_regclass('marts.fct_order_current_status') is not null then
        execute 'select region, channel from marts.fct_order_current_status where order_id = $1'
            into o_region, o_channel using p_order_id;
        execute 'select coalesce(array_agg(tag), ''{}'') from marts.fct_order_tags'
            ' where order_id = $1' into o_tags using p_order_id;
    end if;
    select * into rule from cases.routing_rules as r
    where (r.kind is null or r.kind = p_kind) and (r.severity is null or r.severity = p_severity)
        and (r.region is null or r.region = o_region)
        and (r.sales_channel is null or r.sales_channel = o_channel)
        and (r.tag is null or r.tag = any(o_tags))
    order by (r.kind is not null) desc,
        (r.severity is not null)::int + (r.region is not null)::int
        + (r.sales_channel is not null)::int + (r.tag is not null)::int desc, r.rule_id
    limit 1;
    insert into cases.cases (kind, subject, order_id, severity, team, target, escalate_target,
        digest, response_minutes, detail, condition_keys, reopens, respond_by)
    values (p_kind, p_subject, p_order_id, p_severity, coalesce(rule.team, 'operations'),
        rule.target, rule.escalate_target, coalesce(rule.digest, false),
        coalesce(rule.response_minutes, 15), p_detail,
        case when p_condition = '' then '{}'::text[] else array[p_condition] end, last_id,
        clock_timestamp() + make_interval(mins => coalesce(rule.response_minutes, 15)))
    on conflict (kind, subject) where state in ('open', 'assigned', 'acknowledged') do nothing
    returning case_id into found_id;
    if found_id is null then
        -- another raiser opened it first (and has committed): seen again on that one
        return cases.raise_case(p_kind, p_subject, p_order_id, p_condition, p_severity,
            p_detail, p_actor);
    end if;
    insert into cases.case_actions (case_id, action, actor, detail)
    values (found_id, case when last_id is null then 'opened' else 'reopened' end, p_actor,
        jsonb_build_object('kind', p_kind, 'subject', p_subject, 'severity', p_severity,
            'team', coalesce(rule.team, 'operations'), 'condition', p_condition,
            'reopens', last_id));
    return found_id;
end
$$;
"""

_ACT = """
create or replace function cases.act(
    p_case bigint, p_action text, p_actor text, p_note text default null,
    p_assignee text default null
) returns jsonb language plpgsql as $$
declare
    c_row cases.cases;
    next_state text;
begin
    select * into c_row from cases.cases where case_id = p_case for update;
    if c_row.case_id is null then
        raise sqlstate 'PT404' using message = format('no case %s', p_case),
            hint = 'list the open cases: orderhub cases list';
    end if;
    if c_row.state in ('resolved', 'dismissed') then
        raise sqlstate 'PT409'
            using message = format('case %s is %s: a %s case cannot be %s', p_case,
                c_row.state, c_row.state, case p_action when 'assign' then 'assigned'
                when 'dismiss' then 'dismissed' else p_action || 'd' end),
            detail = format('closed at %s by its last action', c_row.closed_at),
            hint = 'a closed case stays closed; a new case opens when its condition'
                ' comes back';
    end if;
    case p_action
        when 'assign' then
            if coalesce(trim(p_assignee), '') = '' then
                raise sqlstate '22023' using message = 'assign needs an assignee',
                    hint = 'name the person or queue the case is assigned to';
            end if;
            next_state := case when c_row.state = 'open' then 'assigned' else c_row.state end;
        when 'acknowledge' then
            if c_row.state = 'acknowledged' then
                raise sqlstate 'PT409'
                    using message = format('case %s is already acknowledged', p_case),
                    detail = format('acknowledged at %s', c_row.acknowledged_at),
                    hint = 'resolve or dismiss it';
            end if;
            next_state := 'acknowledged';
        when 'resolve' then
            next_state := 'resolved';
        when 'dismiss' then
            if coalesce(trim(p_note), '') = '' then
                raise sqlstate '22023' using message = 'a note is required to dismiss a case',
                    hint = 'say why the case needs no action (note)';
            end if;
            next_state := 'dismissed';
        else
            raise sqlstate '22023' using message = format('no action %L', p_action),
                hint = 'assign, acknowledge, resolve or dismiss';
    end case;
    update cases.cases set state = next_state,
        assignee = coalesce(nullif(trim(p_assignee), ''), assignee),
        acknowledged_at = case when next_state = 'acknowledged' then clock_timestamp()
            else acknowledged_at end,
        closed_at = case when next_state in ('resolved', 'dismissed') then clock_timestamp() end
    where case_id = p_case returning * into c_row;
    insert into cases.case_actions (case_id, action, actor, note, detail)
    values (p_case, case p_action when 'assign' then 'assigned' when 'dismiss' then 'dismissed'
            else p_action || 'd' end, p_actor, p_note,
        jsonb_strip_nulls(jsonb_build_object('assignee', p_assignee)));
    return to_jsonb(c_row);
end
$$;
"""

_FROM_MARTS = """
create or replace function cases.raise_from_exceptions(p_orders text[] default null)
returns integer language plpgsql as $$
declare
    r record;
    n integer := 0;
begin
    if to_regclass('marts.fct_order_exceptions') is null then
        return 0;
    end if;
    for r in execute
        'select e.exception_type as kind, coalesce(e.order_id, e.exception_id) as subject,'
        ' e.order_id, e.exception_id as cond, e.severity, jsonb_build_object('
        ' ''exception_id'', e.exception_id, ''systems'', e.systems,'
        ' ''detected_since'', e.detected_since) as detail'
        ' from marts.fct_order_exceptions as e where ($1 is null or e.order_id = any($1))'
        ' union all select ''manual_review'', t.order_id, t.order_id,'
        ' ''tag:'' || array_to_string(t.rule_ids, ''+''), ''warning'','
        ' jsonb_build_object(''rules'', t.rule_ids)'
        ' from marts.fct_order_tags as t where t.tag = ''manual_review'''
        ' and ($1 is null or t.order_id = any($1))'
        ' union all select ''tag_conflict'', a.order_id, a.order_id,'
        ' a.tag || ''/'' || b.tag, ''warning'','
        ' jsonb_build_object(''tags'', array[a.tag, b.tag], ''rules'', a.rule_ids || b.rule_ids)'
        ' from cases.tag_conflicts as c join marts.fct_order_tags as a on a.tag = c.tag'
        ' join marts.fct_order_tags as b on b.order_id = a.order_id and b.tag = c.other_tag'
        ' where ($1 is null or a.order_id = any($1))'
        || case when to_regclass('fulfilment.manual_review') is null then '' else
        ' union all select ''manual_review'', m.order_id, m.order_id,'
        ' ''fulfilment:'' || m.line_id || '':'' || m.kind, ''warning'','
        ' jsonb_build_object(''line_id'', m.line_id, ''reason'', m.kind, ''detail'', m.detail)'
        ' from fulfilment.manual_review as m where m.status = ''open'''
        ' and ($1 is null or m.order_id = any($1))' end
        using p_orders
    loop
        if not exists (select from cases.cases as c where c.kind = r.kind
                and c.subject = r.subject and r.cond = any(c.condition_keys)) then
            n := n + (cases.raise_case(r.kind, r.subject, r.order_id, r.cond, r.severity,
                r.detail) is not null)::int;
        end if;
    end loop;
    return n;
end
$$;
"""

_SWEEP = """
create or replace function cases.sweep() returns integer language plpgsql as $$
declare
    r record;
    n integer := 0;
    orders_sql text := 'select o.order_id, o.canonical_status, o.channel, o.status_since,'
        ' o.status_since_event_id, o.updated_at from marts.fct_order_current_status as o'
        ' where not coalesce(o.is_terminal, false) and o.order_id is not null';
begin
    if to_regclass('orderhub_meta.extraction_batches') is not null then
        for r in select c.subject, c.severity, b.last_at from cases.clock_rules as c
            cross join lateral (select max(coalesce(x.finished_at, x.started_at)) as last_at
                from orderhub_meta.extraction_batches as x
                where x.system = c.subject and x.status = 'succeeded' and x.records_read > 0) as b
            where c.rule = 'silent_source'
                and clock_timestamp() - b.last_at > make_interval(mins => c.minutes)
        loop
            if not exists (select from cases.cases as c where c.kind = 'silent_source'
                    and c.subject = r.subject
                    and 'silent since ' || r.last_at = any(c.condition_keys)) then
                n := n + (cases.raise_case('silent_source', r.subject, null,
                    'silent since ' || r.last_at, r.severity,
                    jsonb_build_object('system', r.subject, 'last_record_at', r.last_at))
                    is not null)::int;
            end if;
        end loop;
    end if;
    if to_regclass('marts.fct_order_current_status') is not null
            and to_regclass('seeds.status_slas') is not null then
        for r in execute 'select o.order_id, s.severity, s.sla_hours, o.canonical_status,'
            ' md5(concat_ws(''|'', ''stuck_beyond_sla'', o.order_id,'
            ' o.status_since_event_id)) as cond'
            ' from (' || orders_sql || ') as o join seeds.status_slas as s'
            ' on s.canonical_status = o.canonical_status and s.channel = o.channel'
            ' where clock_timestamp() - o.status_since > s.sla_hours * interval ''1 hour'''
        loop
            if not exists (select from cases.cases as c where c.kind = 'stuck_beyond_sla'
                    and c.subject = r.order_id and r.cond = any(c.condition_keys)) then
                n := n + (cases.raise_case('stuck_beyond_sla', r.order_id, r.order_id, r.cond,
                    r.severity, jsonb_build_object('canonical_status', r.canonical_status,
                        'sla_hours', r.sla_hours, 'clock', 'wall')) is not null)::int;
            end if;
        end loop;
    end if;
    if to_regclass('marts.fct_order_current_status') is not null then
        for r in execute 'select o.order_id, o.updated_at, c.severity,'
            ' ''no event since '' || o.updated_at as cond from (' || orders_sql || ') as o'
            ' join cases.clock_rules as c on c.rule = ''stale_order'''
            ' and (c.subject is null or c.subject = o.order_id)'
            ' where clock_timestamp() - o.updated_at > make_interval(mins => c.minutes)'
        loop
            if not exists (select from cases.cases as c where c.kind = 'stale_order'
                    and c.subject = r.order_id and r.cond = any(c.condition_keys)) then
                n := n + (cases.raise_case('stale_order', r.order_id, r.order_id, r.cond,
                    r.severity, jsonb_build_object('last_event_at', r.updated_at))
                    is not null)::int;
            end if;
        end loop;
    end if;
    with due as (
        update cases.cases set escalation_level = escalation_level + 1,
            respond_by = clock_timestamp() + make_interval(mins => response_minutes)
        where state in ('open', 'assigned') and respond_by <= clock_timestamp()
        returning case_id, escalation_level
    )
    insert into cases.case_actions (case_id, action, actor, detail)
    select case_id, 'escalated', 'orderhub', jsonb_build_object('level', escalation_level)
    from due;
    return n;
end
$$;
"""

#: Every function of the schema, in the order they are created.
FUNCTIONS = _RAISE + _ACT + _FROM_MARTS + _SWEEP
