def pytest_addoption(parser):
    parser.addoption('--flags', default='', help="nbdev test flags to run, e.g. --flags slow (cells marked `#| slow`)")
