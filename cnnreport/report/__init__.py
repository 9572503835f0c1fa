"""The report: finished run folders in, one self-contained HTML file out; never trains, never loads torch.

build.py (select and order runs, fill the caches, make the parts) -> sections/ (builders that
only read, through results.py) -> render.py (templates/, with format.py's filters). figures/
draws the plots; document.py is the structure the template renders.
"""
