{{ config(materialized='api_function', alias='subscribe') }}
-- POST /rpc/subscribe {url, statuses, exception_types, partner_id, region}: register a
-- webhook subscriber (orderhub.live.subscriptions); answers its id and the whsec_ secret
-- its deliveries are signed with (Standard Webhooks). A partner subscribes to its own
-- shipments only: its partner_id claim is the filter, whatever it asks. Runs as the
-- warehouse owner (security definer, search_path pinned): the caller needs only the right
-- to call it; it writes one row of {{ source('orderhub_meta', 'subscriptions') }}.
(url text, statuses text[] default null, exception_types text[] default null,
 partner_id text default null, region text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    claimed_role text := {{ api_claim('role') }};
    claimed_partner text := {{ api_claim(var('api_row_claims')['partner']) }};
    chosen_partner text := subscribe.partner_id;
    secret text;
    new_id bigint;
begin
    if subscribe.url is null or subscribe.url !~ '^https?://' then
        raise exception 'url must be an http(s) URL' using errcode = '22023';
    end if;
    if claimed_role = 'partner' then
        if claimed_partner is null
            or coalesce(subscribe.partner_id, claimed_partner) <> claimed_partner then
            raise exception 'a partner subscribes to its own shipments only'
                using errcode = '42501';
        end if;
        chosen_partner := claimed_partner;
    end if;
    secret := 'whsec_' || encode(decode(
        replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
        'hex'), 'base64');
    insert into orderhub_meta.subscriptions
        (url, secret, statuses, exception_types, partner_id, region, owner_role)
    values (subscribe.url, secret, subscribe.statuses, subscribe.exception_types,
        chosen_partner, subscribe.region, coalesce(claimed_role, current_user))
    returning subscription_id into new_id;
    return jsonb_build_object('subscription_id', new_id, 'secret', secret);
end
$$
