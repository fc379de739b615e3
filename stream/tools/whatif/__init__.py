"""What-if: the pipeline's history replayed through the pure core under a proposed
policy, against the policy in force, and what would have changed.

``run`` reads a source into a :class:`~stream.tools.whatif.run.WhatIf`; ``report`` folds the
declarations into the report; ``render`` shows it in a terminal or as an HTML page.
"""
