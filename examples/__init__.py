"""Runnable examples of chatguard's uses."""
