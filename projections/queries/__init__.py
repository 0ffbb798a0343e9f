"""Query functions over the views: filters, a cursor and a clamped limit in; rows, the next
cursor and the position the answer reflects out."""
