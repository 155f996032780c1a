"""Delivery modes: what a mapped ``deliver`` task does with the targets of its work unit.

``unit.deliver_unit`` picks the mode a ship is configured for (``Airflow.DeliveryMode``): ``sqs`` puts
Starfleet-compatible messages on the ship's queue (the ship runs as a Lambda), ``inline`` runs the ship
in the worker. Nothing here imports Airflow: the Airflow layer hands in the clients and sessions it
builds from its connections, so the modes are tested (and could run) without a scheduler.
"""
