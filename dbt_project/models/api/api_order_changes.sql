-- GET /order_changes?change_id=gt.CURSOR&order=change_id: the change feed for systems that
-- poll - every canonical status change and new exception the live path committed, from the
-- outbox, with the row security of /orders.
{{ api_view(source('orderhub_meta', 'outbox')) }}
