{{ config(materialized='api_function', alias='dismiss_case') }}
-- POST /rpc/dismiss_case: see the macro case_action_function (and orderhub/cases).
{{ case_action_function('dismiss_case', 'dismiss') }}
