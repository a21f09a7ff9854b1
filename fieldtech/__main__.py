from fieldtech.cli import main

main()
