from fieldtech.launch import main

main()
