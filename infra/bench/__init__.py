"""``make bench``: Miles' serving path vs a prototype-equivalent BERT-base baseline (see ``runner``)."""
