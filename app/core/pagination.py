"""Paged lists: the largest page any list route serves."""

MAX_PAGE = 500
