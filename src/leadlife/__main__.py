from leadlife.cli import main

main()
