"""An authority's SSDA903 returns: reading, cleaning, counting, estimating, and synthetic returns.

`reader` reads the files (a folder per year, or pooled files with LA and YEAR); `cleaning` cleans
them as the demand models do; `counts` counts as the DfE's national tables; `estimates` turns a
return into the inputs of a local model (`LocalEstimates`); `synth` writes synthetic returns from
the model's journey log; `privacy` suppresses small counts in everything shown. Identifiers from
a return (CHILD, UPN, DOB, postcodes, URN) stay in memory and reach no output.
"""
