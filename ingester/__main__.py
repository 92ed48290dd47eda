from ingester.cli import main

main()
