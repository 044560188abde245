"""Scheduled jobs, run by APScheduler in a process of their own (never in web workers).

Each job is a plain function of (session, date) that calls into ``ledger``.
"""
