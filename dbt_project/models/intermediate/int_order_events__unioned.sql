-- Every status observation of every system, one shape (macro order_event_observation),
-- with the key its code is matched on (macro status_code_key: the field's normalisation
-- from seeds/status_fields; an observation whose code is blank and means nothing is left
-- out). ERP, CRM and WMS records are state snapshots: a version that repeats the previous
-- version's code (its key) for the same field (in event-time order) observes the same
-- event again and is left out, so an event is the moment a code appeared. TMS tracking
-- details are events already. order_id is the order this version references (the
-- record's latest version decides: int_order_events__mapped). Windows are partitioned by
-- (source_system, source_record_key) so that a filter on those columns (the incremental
-- fct_order_status_events) reaches the raw tables.
with

erp_orders as not materialized (

    -- read twice below (observations, deletions): not materialized, so a record filter
    -- reaches both reads (materialized, the hot path windowed every sales order first)
    select * from {{ ref('stg_erp__sales_orders') }}

),

crm_fulfillment_orders as not materialized (

    -- read twice below, as erp_orders
    select * from {{ ref('stg_crm__fulfillment_orders') }}

),

wms_pickings as (

    select * from {{ ref('stg_wms__pickings') }}

),

tms_tracking_events as (

    select * from {{ ref('stg_tms__tracking_events') }}

),

tms_trackers as (

    select * from {{ ref('stg_tms__trackers') }}

),

status_fields as (

    select * from {{ ref('status_fields') }}

),

erp_status_fields as (

    -- one row per status field of each version
    select
        erp_orders.*,
        status_fields.source_field,
        status_fields.source_code

    from erp_orders
    cross join lateral (
        values
            ('OverallSDProcessStatus', erp_orders.overall_sd_process_status),
            ('OverallTotalDeliveryStatus', erp_orders.overall_total_delivery_status),
            ('OverallSDDocumentRejectionSts', erp_orders.overall_sd_document_rejection_status),
            ('YY1_ShopFinancialStatus_SDH', erp_orders.shop_financial_status),
            ('SalesOrderItem.SalesDocumentRjcnReason', erp_orders.item_rejection_reason)
    ) as status_fields (source_field, source_code)
    -- the web shop's financial status is optional (store orders have none), an item's
    -- rejection reason too (no item rejected); a deletion carries no status (erp_deletions
    -- below)
    where status_fields.source_code is not null and not erp_orders.is_deleted

),

erp_observations as (

    select
        {{ order_event_observation({
            'source_system': "'erp'",
            'event_time': 'changed_at',
            'node': 'store_id',
            'node_type': "'store'",
        }) }}

    from erp_status_fields

),

erp_deletions as (

    -- a sales order deleted in S/4HANA (its SalesOrder.Deleted business event, pushed, or
    -- found missing by the key reconciliation) is an event at the moment of the deletion,
    -- mapped by the crosswalk: never a disappearance
    select
        {{ order_event_observation({
            'source_system': "'erp'",
            'source_field': "'SalesOrder.Deleted'",
            'source_code': 'deletion_code',
            'event_time': 'changed_at',
            'node': 'store_id',
            'node_type': "'store'",
        }) }}

    from erp_orders
    where is_deleted

),

crm_observations as (

    select
        {{ order_event_observation({
            'source_system': "'crm'",
            'source_field': "'FulfillmentOrder.Status'",
            'source_code': 'status',
            'event_time': 'changed_at',
            'node': 'fulfilled_from_location',
            'node_type': "'warehouse'",
        }) }}

    from crm_fulfillment_orders

),

crm_deletions as (

    -- a fulfillment order deleted in Salesforce (queryAll serves it, IsDeleted true) is an
    -- event at the moment of the deletion, mapped by the crosswalk: never a disappearance
    select
        {{ order_event_observation({
            'source_system': "'crm'",
            'source_field': "'FulfillmentOrder.IsDeleted'",
            'source_code': "'true'",
            'event_time': 'coalesce(system_modstamp, changed_at)',
            'node': 'fulfilled_from_location',
            'node_type': "'warehouse'",
        }) }}

    from crm_fulfillment_orders
    where is_deleted

),

wms_observations as (

    select
        {{ order_event_observation({
            'source_system': "'wms'",
            'source_field': "picking_type_code || '.state'",
            'source_code': 'state',
            'event_time': 'changed_at',
            'node': 'warehouse',
            'node_type': "'warehouse'",
        }) }}

    from wms_pickings

),

tms_deletions as (

    -- a tracker no longer listed by EasyPost (found by the key reconciliation) is an event
    -- at the moment it was found missing, mapped by the crosswalk: never a disappearance
    -- (no place is known: the carrier's, unnamed)
    select
        {{ order_event_observation({
            'source_system': "'tms'",
            'source_field': "'tracker.deleted'",
            'source_code': 'deletion_code',
            'event_time': 'updated_at',
            'node': 'cast(null as text)',
            'node_type': "'carrier_location'",
        }) }}

    from tms_trackers
    where deletion_code is not null

),

snapshot_observations as (

    select * from erp_observations
    union all
    select * from erp_deletions
    union all
    select * from crm_observations
    union all
    select * from crm_deletions
    union all
    select * from wms_observations
    union all
    select * from tms_deletions

),

snapshot_keyed as (

    select
        snapshot_observations.*,
        {{ status_code_key('snapshot_observations.source_code', 'status_fields') }} as code_key

    from snapshot_observations
    left join status_fields
        on snapshot_observations.source_system = status_fields.source_system
        and snapshot_observations.source_field = status_fields.source_field

),

snapshot_changes as (

    select
        *,
        lag(code_key) over (
            partition by source_system, source_record_key, source_field
            order by event_time, extracted_at, content_hash
        ) as previous_code_key

    from snapshot_keyed
    where code_key is not null

),

tms_scans as (

    select
        *,
        -- a scan at a carrier facility (hub), or anywhere else the carrier reports from
        case
            when status_detail like '%facility%' then 'carrier_hub'
            else 'carrier_location'
        end as node_type

    from tms_tracking_events

),

tms_observations as (

    select
        {{ order_event_observation({
            'source_system': "'tms'",
            'source_field': "'tracker.status'",
            'source_code': 'status',
            'node': 'city',
            'node_region': 'state',
            'node_country': 'country',
            'node_postal_code': 'zip',
            'event_message': 'message',
        }) }}

    from tms_scans

),

tms_keyed as (

    select
        tms_observations.*,
        {{ status_code_key('tms_observations.source_code', 'status_fields') }} as code_key

    from tms_observations
    left join status_fields
        on tms_observations.source_system = status_fields.source_system
        and tms_observations.source_field = status_fields.source_field

),

unioned as (

    select
        {{ order_event_observation() }},
        code_key

    from snapshot_changes
    where previous_code_key is distinct from code_key

    union all

    select
        {{ order_event_observation() }},
        code_key

    from tms_keyed

)

select * from unioned
