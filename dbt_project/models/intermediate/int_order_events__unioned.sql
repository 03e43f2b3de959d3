-- Every status observation of every system, one shape (macro order_event_observation).
-- ERP, CRM and WMS records are state snapshots: a version that repeats the previous
-- version's code for the same field (in event-time order) observes the same event again
-- and is left out, so an event is the moment a code appeared. TMS tracking details are
-- events already. Windows are partitioned by (source_system, source_record_key) so that
-- a filter on those columns (the incremental fct_order_status_events) reaches the raw
-- tables.
with

erp_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

crm_fulfillment_orders as (

    select * from {{ ref('stg_crm__fulfillment_orders') }}

),

wms_pickings as (

    select * from {{ ref('stg_wms__pickings') }}

),

tms_tracking_events as (

    select * from {{ ref('stg_tms__tracking_events') }}

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
            ('YY1_ShopFinancialStatus_SDH', erp_orders.shop_financial_status)
    ) as status_fields (source_field, source_code)
    -- the web shop's financial status is optional (store orders have none)
    where status_fields.source_code is not null
        or status_fields.source_field <> 'YY1_ShopFinancialStatus_SDH'

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

snapshot_observations as (

    select * from erp_observations
    union all
    select * from crm_observations
    union all
    select * from wms_observations

),

snapshot_changes as (

    select
        *,
        lag(source_code) over (
            partition by source_system, source_record_key, source_field
            order by event_time, extracted_at, content_hash
        ) as previous_code

    from snapshot_observations

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
            'event_message': 'message',
        }) }}

    from tms_scans

),

unioned as (

    select
        {{ order_event_observation() }}

    from snapshot_changes
    where previous_code is distinct from source_code

    union all

    select * from tms_observations

)

select * from unioned
